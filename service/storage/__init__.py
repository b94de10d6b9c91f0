"""What users write, kept: the feedback store.

Takes in: ratings of answers from the page or the API.
Gives out: stored rows, read back by staff.
"""
