echo from file
