"""Search by meaning: records cut into passages with their places, and sentence vectors."""
