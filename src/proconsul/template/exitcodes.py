"""consul-template's exit statuses (`ExitCodeError = 10 + iota`), kept so scripts keep working."""

EXIT_OK = 0
EXIT_ERROR = 11
EXIT_INTERRUPT = 12
EXIT_FLAGS = 13
EXIT_RUNNER = 14
EXIT_CONFIG = 15
