"""The window: Qt only. Views call services and listen to change notices; they hold no live Session."""
