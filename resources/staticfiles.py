"""Static files (the admin's and the API docs' assets): once `collectstatic` has run, each is
served under a name carrying a hash of its content, compressed, and cached by browsers for a year
(WhiteNoise's manifest storage); before that (development, tests) under its plain name, straight
from the installed apps."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    def stored_name(self, name: str) -> str:
        # No manifest yet: nothing has been collected, and WhiteNoise serves the apps' own files.
        if not self.hashed_files:
            return name
        return super().stored_name(name)
