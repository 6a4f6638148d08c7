"""Pre-training a (small) HuBERT teacher with ESPnet's own HubertTask.

:mod:`.units` makes the first-iteration targets: MFCC k-means units (scikit-learn) at
the CNN's exact frame rate. :mod:`.hubert_model` adds one model choice to ESPnet's
HubertTask whose loss weights are configurable.
"""
