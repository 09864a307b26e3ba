class DevStackError(RuntimeError):
    """A private server or a child process could not be brought up; the message says why."""
