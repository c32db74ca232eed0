not a function
