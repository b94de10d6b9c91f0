"""The policybot command: parser and one function per subcommand.

Takes in: command-line arguments and the POLICYBOT_* settings.
Gives out: printed results or --json (through the API's presenters), exit codes.
"""
