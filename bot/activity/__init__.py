"""报送: departments report the activities they ran; the office reviews and sends back."""
