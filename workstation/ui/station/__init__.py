"""The station workspace: the care-visit worklist of one community, a person's page, and visits by keyboard."""
