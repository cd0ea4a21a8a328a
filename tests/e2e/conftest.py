from emulator_fixtures import local_stack, stack_env  # noqa: F401
