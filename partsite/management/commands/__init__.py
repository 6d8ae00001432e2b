"""createuser and apikey."""
