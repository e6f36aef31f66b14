"""The controller's stages, one concern each; adrs.loop wires them into an iteration.

    schedule    Schedule: what iteration i may see, results revealed in iteration order
    budget      Budget: LLM spending, billed in iteration order, and when to stop
    calls       CallLog: each LLM call stored once, the moment its reply arrives
    duplicates  Duplicates: sources and behaviours already seen, what a duplicate copies
    outage      Outage: an unreachable model endpoint, and when to give up on it
    parents     ParentCache: what a prompt shows of a parent, read once
    progress    Progress: the progress bar
    pipeline    Pipeline: mutation -> hash -> evaluation -> record, in iteration order
    bundle      Stages: all but the pipeline, built together for one run
    startup     rebuilding the stages from the store; the initial program, the baselines

Stages take typed collaborators and return values; none of them sees the controller.
The worker side of an evaluation (the functional-hash gate) is adrs.hash_gate.
"""
