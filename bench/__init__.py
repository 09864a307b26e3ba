"""`make bench`: every scenario measured against a bare baseline in the same run."""
