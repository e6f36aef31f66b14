class Evaluator:
    entrypoint = "value"

    def cases(self):
        return [{}]

    def score(self, outputs, seconds):
        return {"score": float(outputs[0])}
