"""Parts and their lifecycle, from review to a finished part on the shelf."""
