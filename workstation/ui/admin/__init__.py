"""The administrator's window: users, the working calendar and the service mappings."""
