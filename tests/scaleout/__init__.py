"""Scale-out: limits shared by every worker, flows in the database, several processes."""
