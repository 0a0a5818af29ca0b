#!/usr/bin/python3
# Writes the PyTorch golden fixture of the fine-tuning test (test/compiler/torch-classifier.test.ts):
# transformers' BertForSequenceClassification in plain torch: the encoder of
# scripts/make-torch-fixture.py (same modules, Hugging Face's modeling_bert.py semantics), the
# pooled [CLS] output, dropout (0 here: a fixed batch must give fixed numbers) and a linear
# `classifier`; single-label classification (three labels, cross-entropy averaged over the batch)
# and regression (one output, MSELoss: the mean squared error, problem_type "regression").
# float64, seeded weights and inputs.
#
#   /usr/bin/python3 scripts/make-torch-classifier-fixture.py     (Debian's python3-torch)
#
# Writes test/fixtures/torch-bert/classifier.json and regression.json (version FIXTURE_VERSION):
#   config        model and optimizer settings (must equal test/compiler/fixtures/torch-classifier.yaml,
#                 with tasks.classify.regression for regression.json)
#   weights       every parameter by Hugging Face name, float32-exact; shapes
#   inputs        input_ids, token_type_ids, attention_mask [B*T] (a pair, a single text, padding); labels [B]
#                 (class ids; float targets for regression)
#   forward       loss, correct (classification only), logits [B, num_labels]
#   grads         d(loss)/d(param) for every parameter
#   steps         torch.optim.AdamW on the same batch, clip_grad_norm_ first: per step the loss
#                 before the update and the global gradient norm; after the last, every
#                 parameter's change (final - initial)
# The test suite only reads the JSON; it never runs Python.
import importlib.util
import json
import os

import torch
import torch.nn.functional as F

FIXTURE_VERSION = 1
HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, '..', 'test', 'fixtures', 'torch-bert')

spec = importlib.util.spec_from_file_location('bert_fixture', os.path.join(HERE, 'make-torch-fixture.py'))
bert = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bert)

# The pretraining fixture's model and optimizer, with a three-label head and its own batch.
CONFIG = {k: v for k, v in bert.CONFIG.items() if k != 'max_predictions'}
CONFIG.update({'num_labels': 3, 'batch_size': 3, 'seq_len': 9})
torch.manual_seed(20261207)


class BertForSequenceClassification(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.bert = bert.BertModel(c)
        self.classifier = bert.Linear(c['hidden_size'], c['num_labels'])

    def forward(self, input_ids, token_type_ids, attention_mask, labels):
        _, pooled = self.bert(input_ids, token_type_ids, attention_mask)
        logits = self.classifier(pooled)  # dropout p = 0
        if self.classifier.weight.shape[0] == 1:
            # transformers: num_labels == 1 -> problem_type regression -> MSELoss()(logits.squeeze(), labels.squeeze())
            return F.mse_loss(logits.squeeze(-1), labels), logits
        return F.cross_entropy(logits, labels), logits


def make_inputs(c, gen):
    B, T, V = c['batch_size'], c['seq_len'], c['vocab_size']
    ri = lambda lo, hi: int(torch.randint(lo, hi, (1,), generator=gen))
    inp = {'input_ids': [], 'token_type_ids': [], 'attention_mask': []}
    # [CLS] a [SEP] b [SEP] filling T; [CLS] a [SEP] with padding; a short pair with padding.
    layouts = [(4, 2), (5, 0), (2, 2)]
    for b in range(B):
        la, lb = layouts[b % len(layouts)]
        ids = [2] + [ri(5, V) for _ in range(la)] + [3]
        types = [0] * len(ids)
        if lb:
            ids += [ri(5, V) for _ in range(lb)] + [3]
            types += [1] * (lb + 1)
        n = len(ids)
        inp['input_ids'] += ids + [0] * (T - n)
        inp['token_type_ids'] += types + [0] * (T - n)
        inp['attention_mask'] += [1] * n + [0] * (T - n)
    inp['labels'] = [0, 2, 1][:B]
    return inp


def write(c, out, regression):
    model = BertForSequenceClassification(c).double()
    gen = torch.Generator().manual_seed(11)
    inp = make_inputs(c, gen)
    if regression:
        inp['labels'] = [2.5, -0.75, 4.0][:c['batch_size']]
    B, T = c['batch_size'], c['seq_len']
    ids = torch.tensor(inp['input_ids']).view(B, T)
    types = torch.tensor(inp['token_type_ids']).view(B, T)
    mask = torch.tensor(inp['attention_mask']).view(B, T)
    labels = torch.tensor(inp['labels'], dtype=torch.float64 if regression else torch.int64)
    params = dict(model.named_parameters())
    initial = {n: p.detach().clone() for n, p in params.items()}

    loss, logits = model(ids, types, mask, labels)
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in params.items()}
    forward = {'loss': float(loss)}
    if not regression:
        forward['correct'] = int((logits.argmax(-1) == labels).sum())
    forward['logits'] = bert.flat(logits)

    decay = [p for n, p in params.items() if not bert.glob_match(n, c['no_decay'])]
    no_decay = [p for n, p in params.items() if bert.glob_match(n, c['no_decay'])]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': c['weight_decay']}, {'params': no_decay, 'weight_decay': 0.0}],
                            lr=c['lr'], betas=tuple(c['betas']), eps=c['eps'])
    steps = []
    model.zero_grad()
    for t in range(1, c['steps'] + 1):
        step_loss, _ = model(ids, types, mask, labels)
        step_loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(list(params.values()), c['clip_grad_norm'])
        steps.append({'step': t, 'loss': float(step_loss), 'grad_norm': float(norm)})
        opt.step()
        opt.zero_grad()

    fixture = {
        'version': FIXTURE_VERSION,
        'generator': 'scripts/make-torch-classifier-fixture.py',
        'torch': torch.__version__,
        'config': c,
        'inputs': inp,
        'forward': forward,
        'weights': {n: bert.f32_list(p) for n, p in initial.items()},
        'shapes': {n: list(p.shape) for n, p in initial.items()},
        'grads': {n: bert.flat(g, 10) for n, g in grads.items()},
        'steps': steps,
        'delta': {n: bert.flat(p.detach() - initial[n], 10) for n, p in params.items()},
    }
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, 'w') as f:
        json.dump(fixture, f, separators=(',', ':'))
        f.write('\n')
    print(f'wrote {os.path.relpath(out)}: {sum(p.numel() for p in initial.values())} parameters, loss {forward["loss"]:.6f}, '
          + (f'correct {forward["correct"]}, ' if not regression else '') + 'step losses ' + ' '.join(f'{s["loss"]:.6f}' for s in steps)
          + ', grad norms ' + ' '.join(f'{s["grad_norm"]:.4f}' for s in steps))


def main():
    write(CONFIG, os.path.join(FIXTURES, 'classifier.json'), regression=False)
    # Its own seed, so classifier.json does not depend on whether this one is written.
    torch.manual_seed(20261208)
    write({**CONFIG, 'num_labels': 1}, os.path.join(FIXTURES, 'regression.json'), regression=True)


if __name__ == '__main__':
    main()
