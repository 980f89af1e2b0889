def cleanup(state):
    return state["handle"]


def work():
    state = {}
    try:
        1 / 0
    except ZeroDivisionError:
        cleanup(state)


work()
