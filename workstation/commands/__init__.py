"""The one command registry and the key bindings: menus, shortcuts, palette and cheat sheet derive from it."""
