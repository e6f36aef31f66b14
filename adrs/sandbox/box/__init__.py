"""What runs inside the sandbox: the child entry point, its lockdown, the codec it
shares with the parent, and adrs's own namespace builder (jail.py).

Every module here must use only the standard library (numpy where noted): the
folder is bound read-only into each sandbox and run by the child's interpreter.
"""
