"""IAM enforced on the local stack (issue 18, docs/design/iam-enforced-locally.md)."""
