"""The demo account: a realistic agency with every stage of the pipeline filled."""
