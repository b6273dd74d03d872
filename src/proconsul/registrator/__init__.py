"""`proconsul registrator`: keep the registry in step with the containers of one Docker host."""
