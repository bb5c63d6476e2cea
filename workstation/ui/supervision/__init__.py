"""Supervision for shift leads and the director: the live figures window, the wall and the map."""
