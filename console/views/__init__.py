"""Views: short functions that parse the request, call one service and render."""
