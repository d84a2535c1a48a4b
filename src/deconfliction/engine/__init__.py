"""Pure decisions: strategic conflicts between operations, tactical conflicts between tracks."""
