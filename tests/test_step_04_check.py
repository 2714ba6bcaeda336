"""Step 4's check: the classic mistakes it names (MUTATIONS, BUGS) and what only this step's
check does; the contract every check keeps is tests/test_step_check_contract.py."""


from td3_teach import checks

IDX = "idx = np.random.randint(0, size, size=batch_size)"
COLUMN = "return torch.as_tensor(memory[name][idx], dtype=torch.float32, device=device)"


def test_step04_check_passes_a_plain_tuple_and_torch_sampling():
    def step04_sample_batch(memory, size, batch_size, device):
        import torch
        idx = torch.randint(0, size, (batch_size,)).numpy()
        out = [torch.tensor(memory[k][idx], dtype=torch.float32).to(device)
               for k in ("s", "s_next", "a", "r", "terminated")]
        return out[0], out[1], out[2], out[3].unsqueeze(1), out[4].unsqueeze(1)
    assert checks.step04(step04_sample_batch, seed=5)


MUTATIONS = {
    "r left as (B,): broadcasts to (B, B)": (
        {'r = column("r").reshape(-1, 1)': 'r = column("r")'}, "broadcasts to (B, B)"),
    "r as a row (1, B)": ({'r = column("r").reshape(-1, 1)': 'r = column("r").reshape(1, -1)'}, "shape"),
    "float64 kept (numpy's default)": (
        {COLUMN: "return torch.as_tensor(memory[name][idx], device=device)"}, "float64"),
    "terminated left as bool": (
        {'terminated = column("terminated").reshape(-1, 1)':
         'terminated = torch.as_tensor(memory["terminated"][idx], device=device).reshape(-1, 1)'},
        "torch.bool"),
    "device ignored": (
        {COLUMN: "return torch.as_tensor(memory[name][idx], dtype=torch.float32)"}, "device"),
    "indices on the device (fails off the CPU)": (
        {IDX: "idx = torch.randint(0, size, (batch_size,), device=device)"}, "meta"),
    "numpy arrays returned": ({COLUMN: "return memory[name][idx].astype(np.float32)"}, "numpy"),
    "samples the whole memory, empty rows too": (
        {IDX: 'idx = np.random.randint(0, len(memory["r"]), size=batch_size)'}, "never written"),
    "off by one: the last filled row is never drawn": (
        {IDX: "idx = np.random.randint(0, size - 1, size=batch_size)"}, "upper end"),
    "only the first batch_size rows": (
        {IDX: "idx = np.random.randint(0, batch_size, size=batch_size)"}, "never drawn"),
    "not random: the first rows every time": ({IDX: "idx = np.arange(batch_size)"}, "same rows"),
    "not uniform (min of two draws)": (
        {IDX: "idx = np.minimum(np.random.randint(0, size, size=batch_size), "
              "np.random.randint(0, size, size=batch_size))"}, "not uniform"),
    "separate indices per field": (
        {COLUMN: "return torch.as_tensor(memory[name][np.random.randint(0, size, size=batch_size)], "
                 "dtype=torch.float32, device=device)"}, "mixes transitions"),
    "reshapes the stored rewards in place": (
        {IDX: IDX + '\n    memory["r"] = memory["r"].reshape(-1, 1)'}, "changed memory"),
    "forgot return": ({"return Batch(": "Batch("}, "return"),
}
