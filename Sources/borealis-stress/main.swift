print("borealis-stress: not yet")
