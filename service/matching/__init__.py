"""Enterprise profiles to the policies that apply: taxonomy tags, policy cards, the matcher.

Takes in: a LoadedIndex and a profile (industries, qualifications, needs).
Gives out: every matching passage with its reasons and the sentences that state them.
"""
