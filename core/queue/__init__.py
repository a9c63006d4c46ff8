"""Task queues: a message says "advance run R"; the store's lease decides who may."""
