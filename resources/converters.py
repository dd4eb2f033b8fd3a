"""Path converters: a path segment that cannot name a row never reaches the database."""

from resources.models import USERNAME_PATTERN


class UsernameConverter:
    regex = USERNAME_PATTERN

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class RowIdConverter:
    # Up to 18 digits always fits a 64-bit integer column.
    regex = r"[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)
