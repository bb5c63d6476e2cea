"""Pure Python domain rules: lifecycle, deadlines on the working calendar, visit schedule."""
