"""The command line's subcommands, one module per area; ``segdesk.cli`` wires them up."""
