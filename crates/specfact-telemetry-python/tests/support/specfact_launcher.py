"""Runs the real SpecFact CLI with `specfact_cli.telemetry` replaced by our compat module.

The compat module is placed in `sys.modules` before anything of SpecFact is imported,
so every `from specfact_cli.telemetry import telemetry` gets ours. With `--original`,
SpecFact runs unchanged (for comparisons).
"""

import sys

if len(sys.argv) > 1 and sys.argv[1] == "--original":
    del sys.argv[1]
else:
    import specfact_telemetry.compat

    sys.modules["specfact_cli.telemetry"] = specfact_telemetry.compat

from specfact_cli.cli import cli_main  # noqa: E402

sys.argv[0] = "specfact"
sys.exit(cli_main())
