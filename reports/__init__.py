"""Supervisor reports: costs per trunk and direction, operator statistics, successful applications,
dialer effectiveness."""
