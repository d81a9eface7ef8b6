package cli

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/runbook-lab/runbook/internal/diag"
	"github.com/runbook-lab/runbook/internal/inputfile"
	"github.com/runbook-lab/runbook/internal/safefile"
	"github.com/runbook-lab/runbook/internal/vault"
)

// vaultFlags are Ansible's vault secret options.
type vaultFlags struct {
	ids, passwordFiles []string
	ask                bool
}

func (v *vaultFlags) add(fl *pflag.FlagSet) {
	fl.StringArrayVar(&v.ids, "vault-id", nil, "a vault secret: [ID@]SOURCE, SOURCE a password file, an executable that prints it, or prompt (repeatable)")
	fl.StringArrayVar(&v.passwordFiles, "vault-password-file", nil, "a vault password file, or an executable that prints the password (repeatable)")
	fl.BoolVarP(&v.ask, "ask-vault-pass", "J", false, "ask for the vault password")
}

// keyring loads the secrets the flags name (a prompt reads the terminal,
// or a line of stdin).
func (v *vaultFlags) keyring(a *app) (*vault.Keyring, error) {
	prompt := func(id string) ([]byte, error) {
		if id == "default" {
			return a.readSecret("Vault password: ")
		}
		return a.readSecret(fmt.Sprintf("Vault password (%s): ", id))
	}
	var secrets []vault.Secret
	specs := append([]string(nil), v.ids...)
	for _, f := range v.passwordFiles {
		specs = append(specs, "default@"+f)
	}
	if v.ask {
		specs = append(specs, "default@prompt")
	}
	for _, s := range specs {
		sec, err := vault.LoadSecret(s, prompt)
		if err != nil {
			return nil, err
		}
		secrets = append(secrets, sec)
	}
	return vault.NewKeyring(secrets...), nil
}

// withVault wraps a command so every YAML it reads opens vaulted text with
// the flags' secrets, and output masks what they opened.
func (v *vaultFlags) withVault(a *app, cmd *cobra.Command) {
	run := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) error {
		k, err := v.keyring(a)
		if err != nil {
			return err
		}
		a.vault = k
		defer diag.SetVault(k)()
		return run(c, args)
	}
}

// vaultCmd is `runbook vault`: ansible-vault's commands.
func (a *app) vaultCmd() *cobra.Command {
	var vf vaultFlags
	var encryptID, output, name string
	var newIDs, newFiles []string
	root := &cobra.Command{Use: "vault", Short: "Encrypt, decrypt, view, edit and rekey Ansible Vault files and strings (as ansible-vault)"}
	root.PersistentFlags().StringVar(&encryptID, "encrypt-vault-id", "", "the vault id to encrypt with, when several are given")
	vf.add(root.PersistentFlags())

	secret := func() (vault.Secret, *vault.Keyring, error) {
		k, err := vf.keyring(a)
		if err != nil {
			return vault.Secret{}, nil, err
		}
		s, err := k.For(encryptID)
		return s, k, err
	}
	open := func(k *vault.Keyring, path string) ([]byte, error) {
		b, err := inputfile.Read(path)
		if err != nil {
			return nil, err
		}
		if !vault.IsVault(b) {
			return nil, fmt.Errorf("%s is not encrypted with Ansible Vault", path)
		}
		return k.Open(b, path)
	}
	// eachOpened opens every file with the given secrets, then hands each
	// plaintext on; it stops at the first file that does not open
	eachOpened := func(files []string, fn func(file string, plain []byte) error) error {
		k, err := vf.keyring(a)
		if err != nil {
			return err
		}
		for _, f := range files {
			plain, err := open(k, f)
			if err != nil {
				return err
			}
			if err := fn(f, plain); err != nil {
				return err
			}
		}
		return nil
	}
	seal := func(s vault.Secret, plain []byte) ([]byte, error) { return vault.Encrypt(plain, s.Password, s.ID) }
	write := func(path string, b []byte) error {
		if output == "-" {
			_, err := a.stdout.Write(b)
			return err
		}
		if output != "" {
			path = output
		}
		return safefile.WriteFile(path, b, 0o600)
	}

	encrypt := &cobra.Command{Use: "encrypt FILE...", Short: "Encrypt files in place (or to --output)", Args: cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, files []string) error {
			s, _, err := secret()
			if err != nil {
				return err
			}
			for _, f := range files {
				b, err := inputfile.Read(f)
				if err != nil {
					return err
				}
				if vault.IsVault(b) {
					return fmt.Errorf("%s is already encrypted", f)
				}
				out, err := seal(s, b)
				if err != nil {
					return err
				}
				if err := write(f, out); err != nil {
					return err
				}
			}
			fmt.Fprintln(a.stderr, "Encryption successful")
			return nil
		}}
	decrypt := &cobra.Command{Use: "decrypt FILE...", Short: "Decrypt files in place (or to --output, - for stdout)", Args: cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, files []string) error {
			if err := eachOpened(files, write); err != nil {
				return err
			}
			if output != "-" {
				fmt.Fprintln(a.stderr, "Decryption successful")
			}
			return nil
		}}
	view := &cobra.Command{Use: "view FILE...", Short: "Print decrypted files", Args: cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, files []string) error {
			return eachOpened(files, func(_ string, plain []byte) error {
				_, err := a.stdout.Write(plain)
				return err
			})
		}}
	rekey := &cobra.Command{Use: "rekey FILE...", Short: "Encrypt files again with a new secret (--new-vault-password-file or --new-vault-id)", Args: cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, files []string) error {
			nf := vaultFlags{ids: newIDs, passwordFiles: newFiles}
			nk, err := nf.keyring(a)
			if err != nil {
				return err
			}
			ns, err := nk.For("")
			if err != nil {
				return fmt.Errorf("the new secret: %w", err)
			}
			err = eachOpened(files, func(f string, plain []byte) error {
				out, err := seal(ns, plain)
				if err != nil {
					return err
				}
				return safefile.WriteFile(f, out, 0o600)
			})
			if err == nil {
				fmt.Fprintln(a.stderr, "Rekey successful")
			}
			return err
		}}
	rekey.Flags().StringArrayVar(&newIDs, "new-vault-id", nil, "the new secret: [ID@]SOURCE")
	rekey.Flags().StringArrayVar(&newFiles, "new-vault-password-file", nil, "the new password file")
	encryptString := &cobra.Command{Use: "encrypt_string [STRING]...", Short: "Encrypt strings as !vault values to paste into YAML (no STRING: read stdin)",
		RunE: func(_ *cobra.Command, strs []string) error {
			s, _, err := secret()
			if err != nil {
				return err
			}
			if len(strs) == 0 {
				b, err := readAllStdin(a)
				if err != nil {
					return err
				}
				strs = []string{string(b)}
			}
			for _, plain := range strs {
				out, err := seal(s, []byte(plain))
				if err != nil {
					return err
				}
				key := name
				if key == "" {
					key = "value"
				}
				fmt.Fprintf(a.stdout, "%s: !vault |\n", key)
				for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
					fmt.Fprintf(a.stdout, "          %s\n", l)
				}
			}
			return nil
		}}
	encryptString.Flags().StringVarP(&name, "name", "n", "", "the variable's name")
	edit := &cobra.Command{Use: "edit FILE", Short: "Edit an encrypted file in $EDITOR (a new file: create)", Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error { return a.vaultEdit(&vf, encryptID, args[0], false) }}
	create := &cobra.Command{Use: "create FILE", Short: "Create an encrypted file in $EDITOR", Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error { return a.vaultEdit(&vf, encryptID, args[0], true) }}
	for _, c := range []*cobra.Command{encrypt, decrypt} {
		c.Flags().StringVar(&output, "output", "", "write here instead of in place (- for stdout)")
	}
	root.AddCommand(encrypt, decrypt, view, rekey, encryptString, edit, create)
	return root
}

// vaultEdit opens a file's plaintext in $EDITOR in a private folder and
// encrypts what the editor leaves, in place.
func (a *app) vaultEdit(vf *vaultFlags, encryptID, path string, create bool) error {
	k, err := vf.keyring(a)
	if err != nil {
		return err
	}
	s, err := k.For(encryptID)
	if err != nil {
		return err
	}
	var plain []byte
	if _, statErr := os.Stat(path); statErr == nil {
		if create {
			return fmt.Errorf("%s exists (vault edit changes it)", path)
		}
		b, err := inputfile.Read(path)
		if err != nil {
			return err
		}
		if plain, err = k.Open(b, path); err != nil {
			return err
		}
	} else if !create {
		return fmt.Errorf("%s: %v", path, statErr)
	}
	dir, err := os.MkdirTemp("", "runbook-vault-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, filepath.Base(path))
	if err := os.WriteFile(tmp, plain, 0o600); err != nil {
		return err
	}
	editor := os.Getenv("EDITOR")
	if editor == "" {
		editor = "vi"
	}
	cmd := exec.Command("sh", "-c", editor+` "$1"`, "editor", tmp)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, a.stdout, a.stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("the editor: %v (nothing changed)", err)
	}
	edited, err := os.ReadFile(tmp)
	if err != nil {
		return err
	}
	if !create && bytes.Equal(edited, plain) {
		return nil
	}
	out, err := vault.Encrypt(edited, s.Password, s.ID)
	if err != nil {
		return err
	}
	return safefile.WriteFile(path, out, 0o600)
}

func readAllStdin(a *app) ([]byte, error) {
	var buf bytes.Buffer
	_, err := buf.ReadFrom(a.stdin)
	return bytes.TrimRight(buf.Bytes(), "\n"), err
}
