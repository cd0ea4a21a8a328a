from emulator_fixtures import emulator_env, emulators  # noqa: F401
