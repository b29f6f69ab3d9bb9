"""Labelled data: the record schema, validation, splitting and annotator agreement."""
