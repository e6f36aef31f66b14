# EVOLVE-BLOCK-START
def value():
    return 0.0
# EVOLVE-BLOCK-END
