"""consul-template compatible rendering."""
