"""The controller's stages, one concern each; adrs.loop wires them into an iteration.

    schedule  what iteration i may see: results revealed in iteration order, lagged
    budget    LLM spending, billed in iteration order, and when to stop
    calls     each LLM call stored once, the moment its reply arrives
    duplicates  sources and behaviours already seen, and what a duplicate copies
    pipeline  mutation -> hash -> evaluation -> record, in iteration order
    child     the worker side of an evaluation: the functional-hash gate
    startup   rebuilding all of the above from the store; the initial program
    progress  the progress bar
"""
