# EVOLVE-BLOCK-START
def value(n):
    s = 0
    for i in range(n):
        s += i % 7
    return 0.0 + 0 * s
# EVOLVE-BLOCK-END
