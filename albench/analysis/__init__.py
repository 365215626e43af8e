"""Answers from stored results: leaderboards, statistics, influence, reports."""
