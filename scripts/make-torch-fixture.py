#!/usr/bin/python3
# Writes the PyTorch golden fixture of the whole-model test (test/compiler/torch-golden.test.ts,
# STYLE.md 15): a tiny original BERT (post-LN, MLM + NSP, tied decoder) written here in plain
# torch with Hugging Face transformers' `modeling_bert.py` semantics (BertForPreTraining), run in
# float64 on fixed seeded weights and inputs.
#
#   /usr/bin/python3 scripts/make-torch-fixture.py     (Debian's python3-torch; no transformers)
#
# Writes test/fixtures/torch-bert/fixture.json (version FIXTURE_VERSION):
#   config        the model and optimizer settings (must equal test/compiler/fixtures/torch-golden.yaml)
#   weights       every parameter by Hugging Face name (query/key/value separate), float32-exact
#   inputs        input_ids, token_type_ids, attention_mask [B*T]; masked_positions (within each
#                 sequence), masked_ids, masked_weights [B*P] (weight 0 = empty slot); nsp_labels [B]
#   forward       mlm_loss, nsp_loss, mlm_correct, nsp_correct; mlm_logits [B*T, V] for every
#                 token, nsp_logits [B, 2], pooled [B, H], hidden (last layer) [B*T, H]
#   grads         d(mlm_loss + nsp_loss)/d(param) for every parameter by Hugging Face name
#   steps         torch.optim.AdamW on the same batch, clip_grad_norm_ first: for t = 1..STEPS the
#                 losses of the forward before update t, the global gradient norm, and after the
#                 last update the change of every parameter (final - initial)
# The test suite only reads the JSON; it never runs Python.
import fnmatch
import json
import math
import os

import numpy  # noqa: F401 (tensor.numpy)
import torch
import torch.nn.functional as F

FIXTURE_VERSION = 1
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'torch-bert', 'fixture.json')

CONFIG = {
    'vocab_size': 120,
    'hidden_size': 16,
    'num_hidden_layers': 2,
    'num_attention_heads': 2,
    'intermediate_size': 32,
    'max_position_embeddings': 16,
    'type_vocab_size': 2,
    'layer_norm_eps': 1e-12,
    'hidden_act': 'gelu',  # erf GELU
    'batch_size': 2,
    'seq_len': 8,
    'max_predictions': 3,
    'lr': 1e-3,
    'betas': [0.9, 0.999],
    'eps': 1e-6,
    'weight_decay': 0.01,
    'no_decay': ['*.bias', '*norm*'],
    'clip_grad_norm': 1.0,
    'steps': 5,
}
MASK_ID = 4
torch.manual_seed(20240606)


def nrand(*shape, std):
    return torch.randn(*shape, dtype=torch.float64) * std


def f32(t):
    """Weights exactly representable in float32, so the f32 side starts from the same values."""
    return t.float().double()


class Linear(torch.nn.Module):
    def __init__(self, fan_in, fan_out):
        super().__init__()
        self.weight = torch.nn.Parameter(f32(nrand(fan_out, fan_in, std=0.2)))
        self.bias = torch.nn.Parameter(f32(nrand(fan_out, std=0.05)))

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)


class LayerNorm(torch.nn.Module):
    def __init__(self, h, eps):
        super().__init__()
        self.weight = torch.nn.Parameter(f32(1 + nrand(h, std=0.1)))
        self.bias = torch.nn.Parameter(f32(nrand(h, std=0.05)))
        self.eps = eps

    def forward(self, x):
        return F.layer_norm(x, (x.shape[-1],), self.weight, self.bias, self.eps)


def gelu(x):
    # transformers ACT2FN['gelu'] = exact erf GELU
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


class Embedding(torch.nn.Module):
    def __init__(self, n, h):
        super().__init__()
        self.weight = torch.nn.Parameter(f32(nrand(n, h, std=0.2)))


class BertEmbeddings(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        H = c['hidden_size']
        self.word_embeddings = Embedding(c['vocab_size'], H)
        self.position_embeddings = Embedding(c['max_position_embeddings'], H)
        self.token_type_embeddings = Embedding(c['type_vocab_size'], H)
        self.LayerNorm = LayerNorm(H, c['layer_norm_eps'])

    def forward(self, input_ids, token_type_ids):
        T = input_ids.shape[1]
        position_ids = torch.arange(T).unsqueeze(0)
        x = (self.word_embeddings.weight[input_ids] + self.token_type_embeddings.weight[token_type_ids]
             + self.position_embeddings.weight[position_ids])  # absolute position embeddings
        return self.LayerNorm(x)  # dropout p = 0


class BertSelfAttention(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        H = c['hidden_size']
        self.heads = c['num_attention_heads']
        self.head_size = H // self.heads
        self.query = Linear(H, H)
        self.key = Linear(H, H)
        self.value = Linear(H, H)

    def split(self, x):  # transpose_for_scores
        B, T, _ = x.shape
        return x.view(B, T, self.heads, self.head_size).permute(0, 2, 1, 3)

    def forward(self, x, extended_mask):
        q, k, v = self.split(self.query(x)), self.split(self.key(x)), self.split(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_size)
        scores = scores + extended_mask
        probs = torch.softmax(scores, dim=-1)  # attention dropout p = 0
        ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous()
        return ctx.view(x.shape)


class DenseNorm(torch.nn.Module):
    """BertSelfOutput / BertOutput: dense -> dropout -> LayerNorm(h + input)."""

    def __init__(self, fan_in, H, eps):
        super().__init__()
        self.dense = Linear(fan_in, H)
        self.LayerNorm = LayerNorm(H, eps)

    def forward(self, h, input_tensor):
        return self.LayerNorm(self.dense(h) + input_tensor)


class BertAttention(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = BertSelfAttention(c)
        self.output = DenseNorm(c['hidden_size'], c['hidden_size'], c['layer_norm_eps'])

    def forward(self, x, extended_mask):
        return self.output(self.self(x, extended_mask), x)


class BertIntermediate(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = Linear(c['hidden_size'], c['intermediate_size'])

    def forward(self, x):
        return gelu(self.dense(x))


class BertLayer(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = BertAttention(c)
        self.intermediate = BertIntermediate(c)
        self.output = DenseNorm(c['intermediate_size'], c['hidden_size'], c['layer_norm_eps'])

    def forward(self, x, extended_mask):
        a = self.attention(x, extended_mask)
        return self.output(self.intermediate(a), a)


class BertEncoder(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = torch.nn.ModuleList([BertLayer(c) for _ in range(c['num_hidden_layers'])])

    def forward(self, x, extended_mask):
        for layer in self.layer:
            x = layer(x, extended_mask)
        return x


class BertPooler(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = Linear(c['hidden_size'], c['hidden_size'])

    def forward(self, x):
        return torch.tanh(self.dense(x[:, 0]))


class BertModel(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = BertEmbeddings(c)
        self.encoder = BertEncoder(c)
        self.pooler = BertPooler(c)

    def forward(self, input_ids, token_type_ids, attention_mask):
        # get_extended_attention_mask (transformers < 4.21 constant): (1 - mask) * -10000.0
        extended = (1.0 - attention_mask[:, None, None, :].double()) * -10000.0
        seq = self.encoder(self.embeddings(input_ids, token_type_ids), extended)
        return seq, self.pooler(seq)


class BertPredictionHeadTransform(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = Linear(c['hidden_size'], c['hidden_size'])
        self.LayerNorm = LayerNorm(c['hidden_size'], c['layer_norm_eps'])

    def forward(self, x):
        return self.LayerNorm(gelu(self.dense(x)))


class BertLMPredictionHead(torch.nn.Module):
    def __init__(self, c, word_embeddings):
        super().__init__()
        self.transform = BertPredictionHeadTransform(c)
        self.bias = torch.nn.Parameter(f32(nrand(c['vocab_size'], std=0.05)))
        self.decoder_weight = [word_embeddings]  # tied (a list hides it from the module's parameters)

    def forward(self, x):
        return F.linear(self.transform(x), self.decoder_weight[0].weight, self.bias)


class BertPreTrainingHeads(torch.nn.Module):
    def __init__(self, c, word_embeddings):
        super().__init__()
        self.predictions = BertLMPredictionHead(c, word_embeddings)
        self.seq_relationship = Linear(c['hidden_size'], 2)

    def forward(self, seq, pooled):
        return self.predictions(seq), self.seq_relationship(pooled)


class BertForPreTraining(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.bert = BertModel(c)
        self.cls = BertPreTrainingHeads(c, self.bert.embeddings.word_embeddings)

    def forward(self, input_ids, token_type_ids, attention_mask, labels, next_sentence_label):
        seq, pooled = self.bert(input_ids, token_type_ids, attention_mask)
        prediction_scores, seq_relationship_score = self.cls(seq, pooled)
        V = prediction_scores.shape[-1]
        # CrossEntropyLoss() with ignore_index -100: mean over the labelled tokens of the batch
        mlm_loss = F.cross_entropy(prediction_scores.view(-1, V), labels.view(-1), ignore_index=-100)
        nsp_loss = F.cross_entropy(seq_relationship_score.view(-1, 2), next_sentence_label.view(-1))
        return mlm_loss, nsp_loss, prediction_scores, seq_relationship_score, seq, pooled


def make_inputs(c, gen):
    B, T, P, V = c['batch_size'], c['seq_len'], c['max_predictions'], c['vocab_size']
    ri = lambda lo, hi: int(torch.randint(lo, hi, (1,), generator=gen))
    inp = {k: [] for k in ['input_ids', 'token_type_ids', 'attention_mask', 'masked_positions', 'masked_ids', 'masked_weights']}
    for b in range(B):
        length = T if b % 2 == 0 else T - 2  # odd sequences end in two [PAD]s
        ids = [2] + [ri(5, V) for _ in range(length - 2)] + [3] + [0] * (T - length)  # [CLS] ... [SEP] [PAD]*
        types = [1 if (t < length and t >= length // 2) else 0 for t in range(T)]
        used = P if b % 2 == 0 else P - 1  # odd sequences leave a prediction slot empty
        positions = sorted(torch.randperm(length - 2, generator=gen)[:used].add(1).tolist())
        slots = []
        for j, pos in enumerate(positions):
            original = ids[pos]
            if j == 0:
                ids[pos] = MASK_ID  # [MASK]
            elif j == 1:
                ids[pos] = ri(5, V)  # a random token
            slots.append((pos, original))
        slots += [(0, 0)] * (P - used)
        inp['input_ids'] += ids
        inp['token_type_ids'] += types
        inp['attention_mask'] += [1 if t < length else 0 for t in range(T)]
        inp['masked_positions'] += [s[0] for s in slots]
        inp['masked_ids'] += [s[1] for s in slots]
        inp['masked_weights'] += [1.0] * used + [0.0] * (P - used)
    inp['nsp_labels'] = [0, 1][:B] + [ri(0, 2) for _ in range(B - 2)]  # 0 = is-next
    return inp


def tensors(c, inp):
    B, T, P = c['batch_size'], c['seq_len'], c['max_predictions']
    ids = torch.tensor(inp['input_ids']).view(B, T)
    types = torch.tensor(inp['token_type_ids']).view(B, T)
    mask = torch.tensor(inp['attention_mask']).view(B, T)
    labels = torch.full((B, T), -100, dtype=torch.long)
    for b in range(B):
        for p in range(P):
            if inp['masked_weights'][b * P + p] > 0:
                labels[b, inp['masked_positions'][b * P + p]] = inp['masked_ids'][b * P + p]
    nsp = torch.tensor(inp['nsp_labels'])
    return ids, types, mask, labels, nsp


def flat(t, digits=12):
    return [float(f'{x:.{digits}g}') for x in t.detach().reshape(-1).tolist()]


def hf_params(model):
    """Parameters by Hugging Face name (the tied decoder weight has none of its own)."""
    return dict(model.named_parameters())


def f32_list(t):
    """Shortest decimals that round-trip through float32 (the weights are float32-exact)."""
    return [float(repr(x)) for x in t.detach().reshape(-1).float().numpy()]


def glob_match(name, globs):
    return any(fnmatch.fnmatchcase(name.lower(), g.lower()) for g in globs)


def main():
    c = CONFIG
    model = BertForPreTraining(c).double()
    gen = torch.Generator().manual_seed(7)
    inp = make_inputs(c, gen)
    ids, types, mask, labels, nsp = tensors(c, inp)
    params = hf_params(model)
    initial = {n: p.detach().clone() for n, p in params.items()}

    mlm, nspl, scores, rel, seq, pooled = model(ids, types, mask, labels, nsp)
    (mlm + nspl).backward()
    grads = {n: p.grad.detach().clone() for n, p in params.items()}
    V = c['vocab_size']
    lab = labels.view(-1)
    sel = lab != -100
    mlm_correct = int((scores.view(-1, V).argmax(-1)[sel] == lab[sel]).sum())
    nsp_correct = int((rel.argmax(-1) == nsp).sum())
    forward = {
        'mlm_loss': float(mlm), 'nsp_loss': float(nspl), 'mlm_correct': mlm_correct, 'nsp_correct': nsp_correct,
        'mlm_logits': flat(scores), 'nsp_logits': flat(rel), 'pooled': flat(pooled), 'hidden': flat(seq),
    }

    decay = [p for n, p in params.items() if not glob_match(n, c['no_decay'])]
    no_decay = [p for n, p in params.items() if glob_match(n, c['no_decay'])]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': c['weight_decay']}, {'params': no_decay, 'weight_decay': 0.0}],
                            lr=c['lr'], betas=tuple(c['betas']), eps=c['eps'])
    steps = []
    model.zero_grad()
    for t in range(1, c['steps'] + 1):
        mlm, nspl, *_ = model(ids, types, mask, labels, nsp)
        (mlm + nspl).backward()
        norm = torch.nn.utils.clip_grad_norm_(list(params.values()), c['clip_grad_norm'])
        steps.append({'step': t, 'mlm_loss': float(mlm), 'nsp_loss': float(nspl), 'grad_norm': float(norm)})
        opt.step()
        opt.zero_grad()
    delta = {n: flat(p.detach() - initial[n], 10) for n, p in params.items()}

    fixture = {
        'version': FIXTURE_VERSION,
        'generator': 'scripts/make-torch-fixture.py',
        'torch': torch.__version__,
        'config': c,
        'inputs': inp,
        'forward': forward,
        'weights': {n: f32_list(p) for n, p in initial.items()},
        'shapes': {n: list(p.shape) for n, p in initial.items()},
        'grads': {n: flat(g, 10) for n, g in grads.items()},
        'steps': steps,
        'delta': delta,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        json.dump(fixture, f, separators=(',', ':'))
        f.write('\n')
    print(f'wrote {os.path.relpath(OUT)}: {sum(p.numel() for p in initial.values())} parameters, '
          f'mlm {forward["mlm_loss"]:.6f} nsp {forward["nsp_loss"]:.6f}, step losses '
          + ' '.join(f'{s["mlm_loss"] + s["nsp_loss"]:.6f}' for s in steps)
          + ', grad norms ' + ' '.join(f'{s["grad_norm"]:.4f}' for s in steps))


if __name__ == '__main__':
    main()
