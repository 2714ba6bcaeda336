def smaller(a, b):
    return torch.min(a, b)
