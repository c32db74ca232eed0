_counts
