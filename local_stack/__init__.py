"""shoplake on this machine: moto for AWS, the template for resources, handlers in-process.

`LocalStack` (in `stack.py`) starts moto's server, creates what `template.yaml` declares,
and routes S3 notifications, SNS subscriptions, EventBridge rules and schedules to the
functions the template wires them to, the way AWS would.
"""
