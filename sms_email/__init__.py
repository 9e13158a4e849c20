"""Messages to clients triggered by script answers: SMS through an HTTP gateway, email over SMTP."""
