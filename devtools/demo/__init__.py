"""Our own demo content: scaffolding exports, a conversation generator and the seeding."""
