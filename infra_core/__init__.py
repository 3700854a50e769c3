"""The core platform: nested CloudFormation templates, and the cost estimate `python -m infra_core.cost` prints."""
